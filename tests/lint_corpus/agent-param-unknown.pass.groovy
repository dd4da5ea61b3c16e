pipeline {
    agent {
        node {
            label 'linux'
            customWorkspace '/w'
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
