pipeline {
    agent any
    stages {
        stage('build') {
            stages {
                stage('inner') { steps { echo 'x' } }
            }
        }
    }
}
