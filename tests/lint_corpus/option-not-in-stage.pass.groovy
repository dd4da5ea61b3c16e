pipeline {
    agent any
    stages {
        stage('build') {
            options {
                timeout(time: 10, unit: 'MINUTES')
                skipDefaultCheckout()
            }
            steps { echo 'x' }
        }
    }
}
