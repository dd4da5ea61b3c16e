pipeline {
    agent any
    options {
        timestamps()
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
