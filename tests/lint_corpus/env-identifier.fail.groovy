pipeline {
    agent any
    environment {
        $DOLLAR = 'x'  // <-- env-identifier
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
