pipeline {
    agent any
    environment {
        GREETING = 'hi'
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
