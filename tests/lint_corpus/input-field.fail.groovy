pipeline {
    agent any
    stages {
        stage('build') {
            input {
                message 'Go?'
                timeout 5  // <-- input-field
            }
            steps { echo 'x' }
        }
    }
}
