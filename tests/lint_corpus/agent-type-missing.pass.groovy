pipeline {
    agent { label 'linux' }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
