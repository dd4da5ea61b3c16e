pipeline {
    agent any
    stages {
        stage('build') {
            input {
                message 'Deploy?'
            }
            steps { echo 'x' }
        }
    }
}
