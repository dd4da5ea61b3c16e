pipeline {
    agent any
    stages {
        stage('build') {
            parallel {
                stage('p') {
                    parallel {  // <-- nested-parallel
                        stage('q') { steps { echo 'x' } }
                    }
                }
            }
        }
    }
}
