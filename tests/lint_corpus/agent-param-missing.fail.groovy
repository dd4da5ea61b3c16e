pipeline {
    agent {
        docker {  // <-- agent-param-missing
            label 'linux'
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
