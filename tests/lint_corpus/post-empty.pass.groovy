pipeline {
    agent any
    post { always { echo 'done' } }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
