pipeline {
    agent any
    environment { A = '1' }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
