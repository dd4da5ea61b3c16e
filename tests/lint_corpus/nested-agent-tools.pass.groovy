pipeline {
    agent any
    stages {
        stage('build') {
            parallel {
                stage('p') {
                    agent any
                    steps { echo 'x' }
                }
            }
        }
    }
}
