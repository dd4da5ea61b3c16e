pipeline {
    agent any
    environment { A = 'a' }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
