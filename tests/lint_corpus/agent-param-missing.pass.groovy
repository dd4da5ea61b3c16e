pipeline {
    agent {
        docker {
            image 'debian:12'
            args '-v /tmp:/tmp'
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
