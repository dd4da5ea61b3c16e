pipeline {
    agent any
    stages {
        stage('build') {
            when {
                environment name: 'DEPLOY'  // <-- when-arguments
            }
            steps { echo 'x' }
        }
    }
}
