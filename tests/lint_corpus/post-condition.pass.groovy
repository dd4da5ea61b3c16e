pipeline {
    agent any
    post {
        unsuccessful { echo 'x' }
        cleanup { deleteDir() }
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
