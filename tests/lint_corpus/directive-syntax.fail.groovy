pipeline {
    agent any
    options {
        'timestamps'  // <-- directive-syntax
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
