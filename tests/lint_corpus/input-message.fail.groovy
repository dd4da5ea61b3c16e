pipeline {
    agent any
    stages {
        stage('build') {
            input {  // <-- input-message
                ok 'Yes'
            }
            steps { echo 'x' }
        }
    }
}
