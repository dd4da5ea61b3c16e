pipeline {
    agent somewhere  // <-- agent-invalid
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
