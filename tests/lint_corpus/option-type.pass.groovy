pipeline {
    agent any
    options {
        retry(2)
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
