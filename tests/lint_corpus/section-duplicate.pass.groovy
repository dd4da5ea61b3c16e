pipeline {
    agent any
    environment {
        A = 'a'
        B = 'b'
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
