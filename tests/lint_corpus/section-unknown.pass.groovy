pipeline {
    agent any
    stages {
        stage('build') {
            steps { echo 'x' }
        }
    }
}
