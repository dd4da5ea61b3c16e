pipeline {
    agent any
    environment {
        echo('hi')  // <-- env-syntax
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
