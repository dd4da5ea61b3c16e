pipeline {
    agent any
    stages {
        stage('build') {
            input {
                message 'Go?'
                ok 'Yes'
                parameters { string(name: 'WHO', defaultValue: 'me') }
            }
            steps { echo 'x' }
        }
    }
}
