pipeline {
    agent any
    parameters { string(name: 'BRANCH', defaultValue: 'trunk') }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
