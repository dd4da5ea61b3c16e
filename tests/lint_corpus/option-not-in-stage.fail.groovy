pipeline {
    agent any
    stages {
        stage('build') {
            options {
                disableConcurrentBuilds()  // <-- option-not-in-stage
            }
            steps { echo 'x' }
        }
    }
}
