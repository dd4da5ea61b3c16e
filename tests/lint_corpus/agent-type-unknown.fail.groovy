pipeline {
    agent {
        cloud 'x'  // <-- agent-type-unknown
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
