pipeline {
    agent any
    stages {
        stage('build') {
            steps { }  // <-- steps-empty
        }
    }
}
