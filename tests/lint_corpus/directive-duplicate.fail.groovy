pipeline {
    agent any
    options {
        timestamps()
        timestamps()  // <-- directive-duplicate
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
