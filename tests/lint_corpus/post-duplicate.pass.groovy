pipeline {
    agent any
    post {
        always { echo 'x' }
        failure { echo 'y' }
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
