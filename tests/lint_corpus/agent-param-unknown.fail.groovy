pipeline {
    agent {
        node {
            label 'linux'
            flavour 'vanilla'  // <-- agent-param-unknown
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
