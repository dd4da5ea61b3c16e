pipeline {
    agent any
    stages {
        stage('build') {
            banana { echo 'x' }  // <-- section-unknown
            steps { echo 'x' }
        }
    }
}
