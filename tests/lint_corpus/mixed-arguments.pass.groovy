pipeline {
    agent any
    parameters {
        booleanParam(name: 'FLAG', defaultValue: true, description: 'a flag')
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
