pipeline {
    agent any
    environment {
        _UNDERSCORE_1 = 'x'
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
