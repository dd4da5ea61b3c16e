pipeline {
    agent any
    stages {
        stage('build') {
            when {
                params.DEPLOY == 'yes'  // <-- when-condition
            }
            steps { echo 'x' }
        }
    }
}
