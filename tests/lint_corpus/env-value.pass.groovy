pipeline {
    agent any
    environment {
        A = "${[1, 2]}"
        B = credentials('my-secret')
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
