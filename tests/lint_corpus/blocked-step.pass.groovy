pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                dir('sub') { echo 'inside' }
            }
        }
    }
}
