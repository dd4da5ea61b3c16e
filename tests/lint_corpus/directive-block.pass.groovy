pipeline {
    agent any
    options {
        timeout(time: 1, unit: 'HOURS')
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
