pipeline {
    agent {
        docker {
            image 'debian'
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
