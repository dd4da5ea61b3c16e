pipeline {
    agent any
    stages {
        stage('build') {
            matrix {
                axes { }  // <-- matrix-axes
                stages { stage('t') { steps { echo 'x' } } }
            }
        }
    }
}
