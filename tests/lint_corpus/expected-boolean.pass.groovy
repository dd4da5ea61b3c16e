pipeline {
    agent any
    stages {
        stage('build') {
            failFast true
            parallel {
                stage('p') { steps { echo 'x' } }
            }
        }
    }
}
