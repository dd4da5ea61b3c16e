pipeline {
    agent any
    stages {
        stage('build') {
            parallel {
                stage('p') {
                    stages {
                        stage('q') { steps { echo 'x' } }
                    }
                }
            }
        }
    }
}
