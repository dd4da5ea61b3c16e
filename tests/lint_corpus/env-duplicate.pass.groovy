pipeline {
    agent any
    environment {
        A = 'a'
        B = "${A}b"
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
