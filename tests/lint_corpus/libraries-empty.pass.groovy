pipeline {
    agent any
    libraries { lib('y') }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
