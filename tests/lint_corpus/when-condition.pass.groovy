pipeline {
    agent any
    stages {
        stage('build') {
            when {
                expression { params.DEPLOY == 'yes' }
            }
            steps { echo 'x' }
        }
    }
}
