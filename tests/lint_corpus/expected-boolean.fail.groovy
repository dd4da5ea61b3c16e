pipeline {
    agent any
    stages {
        stage('build') {
            failFast 'yes'  // <-- expected-boolean
            parallel {
                stage('p') { steps { echo 'x' } }
            }
        }
    }
}
