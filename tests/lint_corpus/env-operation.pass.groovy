pipeline {
    agent any
    environment {
        A = 'a' + "b${BUILD_NUMBER}" + 'c'
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
