pipeline {
    agent any
    stages {
        stage('empty') {  // <-- stage-content
            environment { A = 'a' }
        }
    }
}
