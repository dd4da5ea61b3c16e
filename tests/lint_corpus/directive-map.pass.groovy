pipeline {
    agent any
    triggers {
        pollSCM('H/5 * * * *')
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
