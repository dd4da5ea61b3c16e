pipeline {
    agent none
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
