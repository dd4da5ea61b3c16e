pipeline {
    agent any
    environment {
        A = credentials("${SECRET_ID}")
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
