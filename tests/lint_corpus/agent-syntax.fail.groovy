pipeline {
    agent {
        node {
            label  // <-- agent-syntax
        }
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
